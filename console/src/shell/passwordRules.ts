// The password rules as the API checks them (hotline/passwords.py), said once for every form that sets one.
export const PASSWORD_RULES = '至少 10 个字符，含大写字母、小写字母、数字、其他字符中的至少三类，不含用户名'
