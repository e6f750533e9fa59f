"""The vocabulary of the ticket core. Stored as their string values."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    agent = "agent"  # 话务员
    dispatcher = "dispatcher"  # 派单员 / 审核组
    dept_handler = "dept_handler"  # 承办单位 handler / 联络员
    dept_head = "dept_head"  # 承办单位 分管领导
    callback_agent = "callback_agent"  # 回访员
    supervisor = "supervisor"  # 督办员
    admin = "admin"
    channel = "channel"  # a channel client's own user (WeChat back-end, 110, 网格化, 省平台): never logs in


ROLE_LABELS = {
    Role.agent: "话务员",
    Role.dispatcher: "派单员",
    Role.dept_handler: "承办单位",
    Role.dept_head: "承办单位负责人",
    Role.callback_agent: "回访员",
    Role.supervisor: "督办员",
    Role.admin: "管理员",
    Role.channel: "渠道接入",
}

DEPARTMENT_ROLES = frozenset({Role.dept_handler, Role.dept_head})
HOTLINE_ROLES = frozenset({Role.agent, Role.dispatcher, Role.callback_agent, Role.supervisor, Role.admin})


class DepartmentLevel(StrEnum):
    """四级联动: city → district → street/town → community/village."""

    city = "city"
    district = "district"
    street = "street"
    community = "community"


LEVEL_LABELS = {
    DepartmentLevel.city: "市级",
    DepartmentLevel.district: "区县",
    DepartmentLevel.street: "街道/镇",
    DepartmentLevel.community: "社区/村",
}

LEVEL_DEPTH = {
    DepartmentLevel.city: 1,
    DepartmentLevel.district: 2,
    DepartmentLevel.street: 3,
    DepartmentLevel.community: 4,
}


class DepartmentKind(StrEnum):
    territorial = "territorial"  # 属地 (district government, street office, community)
    functional = "functional"  # 行业 (a line bureau)
    hotline = "hotline"  # the 12345 center itself


KIND_LABELS = {
    DepartmentKind.territorial: "属地",
    DepartmentKind.functional: "行业部门",
    DepartmentKind.hotline: "热线中心",
}


class Channel(StrEnum):
    phone = "phone"  # 电话
    web = "web"  # 网站
    wechat = "wechat"  # 微信
    app = "app"  # 移动应用
    transfer_110 = "transfer_110"  # 110 转办
    grid = "grid"  # 网格员/监督员上报
    province = "province"  # 省平台转办


CHANNEL_LABELS = {
    Channel.phone: "电话",
    Channel.web: "网站",
    Channel.wechat: "微信",
    Channel.app: "移动应用",
    Channel.transfer_110: "110转办",
    Channel.grid: "网格上报",
    Channel.province: "省平台转办",
}


class AppealType(StrEnum):
    consult = "consult"  # 咨询
    help = "help"  # 求助
    complaint = "complaint"  # 投诉
    report = "report"  # 举报
    suggestion = "suggestion"  # 建议
    praise = "praise"  # 表扬/感谢
    other = "other"  # 其他


APPEAL_TYPE_LABELS = {
    AppealType.consult: "咨询",
    AppealType.help: "求助",
    AppealType.complaint: "投诉",
    AppealType.report: "举报",
    AppealType.suggestion: "建议",
    AppealType.praise: "表扬/感谢",
    AppealType.other: "其他",
}


class Urgency(StrEnum):
    normal = "normal"  # 一般
    urgent = "urgent"  # 紧急
    critical = "critical"  # 特急


URGENCY_LABELS = {Urgency.normal: "一般", Urgency.urgent: "紧急", Urgency.critical: "特急"}


class TicketStatus(StrEnum):
    registered = "registered"  # 已登记, waiting for a route (直办/转办/派单/不予受理)
    not_accepted = "not_accepted"  # 不予受理 (terminal)
    transferred = "transferred"  # 即时转办 110/119/120/122 (terminal)
    dispatched = "dispatched"  # 已派单, waiting for 签收
    in_progress = "in_progress"  # 办理中 (signed)
    returned = "returned"  # 退单, waiting for the hotline's ruling
    replied = "replied"  # 已回复, waiting for 审核
    awaiting_callback = "awaiting_callback"  # 待回访
    callback_done = "callback_done"  # 已回访, waiting to be closed or reopened
    closed = "closed"  # 办结/归档
    merged = "merged"  # 已并单 into another ticket (terminal)


OPEN_STATUSES = frozenset(
    {
        TicketStatus.registered,
        TicketStatus.dispatched,
        TicketStatus.in_progress,
        TicketStatus.returned,
        TicketStatus.replied,
        TicketStatus.awaiting_callback,
        TicketStatus.callback_done,
    }
)


class InboxTab(StrEnum):
    """The department inbox's tabs (工单 by where they stand for the department)."""

    to_sign = "to_sign"  # 待签收: the user's department has not signed its part yet
    in_progress = "in_progress"  # 办理中
    due_soon = "due_soon"  # 即将超期: the sign-by or reply-by deadline within DUE_SOON
    overdue = "overdue"  # 已超期
    replied = "replied"  # 已回复 (under review or callback)
    closed = "closed"  # 已办结


INBOX_TAB_LABELS = {
    InboxTab.to_sign: "待签收",
    InboxTab.in_progress: "办理中",
    InboxTab.due_soon: "即将超期",
    InboxTab.overdue: "已超期",
    InboxTab.replied: "已回复",
    InboxTab.closed: "已办结",
}


class AssignmentRole(StrEnum):
    primary = "primary"  # 主办
    assist = "assist"  # 协办
    sub = "sub"  # 加派 to a sub-unit


class AssignmentStatus(StrEnum):
    dispatched = "dispatched"
    signed = "signed"
    replied = "replied"
    withdrawn = "withdrawn"  # replaced by 改派 or after a 退单 was accepted


class EmergencyService(StrEnum):
    police = "110"
    fire = "119"
    ambulance = "120"
    traffic = "122"


EMERGENCY_LABELS = {
    EmergencyService.police: "110 报警",
    EmergencyService.fire: "119 火警",
    EmergencyService.ambulance: "120 急救",
    EmergencyService.traffic: "122 交通事故",
}


class Satisfaction(StrEnum):
    satisfied = "satisfied"  # 满意
    basically_satisfied = "basically_satisfied"  # 基本满意
    unsatisfied = "unsatisfied"  # 不满意


SATISFACTION_LABELS = {
    Satisfaction.satisfied: "满意",
    Satisfaction.basically_satisfied: "基本满意",
    Satisfaction.unsatisfied: "不满意",
}


class ReturnReason(StrEnum):
    """退单 reasons a department may give (labels in ``hotline.lifecycle.RETURN_REASONS``)."""

    not_our_duty = "not_our_duty"  # 不属于本单位职责
    wrong_place = "wrong_place"  # 不属于本辖区
    incomplete_info = "incomplete_info"  # 诉求信息不全无法办理
    duplicate = "duplicate"  # 重复工单
    other = "other"  # 其他


class ExtensionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class LimitUnit(StrEnum):
    seconds = "seconds"
    minutes = "minutes"
    hours = "hours"  # on the clock, 7×24
    working_days = "working_days"  # official Chinese calendar


class LimitKind(StrEnum):
    sign = "sign"  # 签收
    reply = "reply"  # 办结/回复
    return_window = "return_window"  # 退单 allowed within
    extension_max = "extension_max"  # longest extension granted
    callback = "callback"  # 回访 after the reply is accepted


LIMIT_KIND_LABELS = {
    LimitKind.sign: "签收时限",
    LimitKind.reply: "办结时限",
    LimitKind.return_window: "退单时限",
    LimitKind.extension_max: "最长延期",
    LimitKind.callback: "回访时限",
}

LIMIT_UNIT_LABELS = {
    LimitUnit.seconds: "秒",
    LimitUnit.minutes: "分钟",
    LimitUnit.hours: "小时",
    LimitUnit.working_days: "工作日",
}
