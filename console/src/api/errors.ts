// Field messages in Chinese. The API's own checks already speak Chinese; Pydantic's built-in
// checks answer in English with a machine `type`, translated here.
import type { FieldError } from './client'

export function fieldMessage(err: FieldError): string {
  const num = /(-?\d+(?:\.\d+)?)\s*(?:characters?|items?)?\s*$/.exec(err.msg)?.[1] ?? ''
  const type = err.type || ''
  const known: Record<string, string> = {
    missing: '必填',
    extra_forbidden: '不允许的字段',
    greater_than_equal: `不能小于 ${num}`,
    greater_than: `必须大于 ${num}`,
    less_than_equal: `不能大于 ${num}`,
    less_than: `必须小于 ${num}`,
    string_too_short: '不能为空',
    string_too_long: `过长（最多 ${num} 个字符）`,
    too_long: `过多（最多 ${num} 项）`,
    list_type: '须为列表',
    enum: '不是可选的值',
    literal_error: '不是可选的值',
    json_invalid: 'JSON 格式错误',
    string_pattern_mismatch: '格式不正确',
    date_from_datetime_parsing: '日期格式不正确',
    datetime_from_date_parsing: '时间格式不正确',
  }
  if (type in known) return known[type]
  if (type.startsWith('int_')) return '须为整数'
  if (type.startsWith('float_')) return '须为数字'
  if (type.startsWith('bool_')) return '须为是或否'
  if (type.startsWith('date')) return '日期格式不正确'
  // value_error and the API's own checks carry a Chinese message ("Value error, 不是有效的电话号码").
  return err.msg.replace(/^Value error,\s*/, '')
}
