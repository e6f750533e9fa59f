// Shapes of the API's answers the console reads (hotline/schemas.py and the packages' schemas.py).

export type Role = 'agent' | 'dispatcher' | 'dept_handler' | 'dept_head' | 'callback_agent' | 'supervisor' | 'admin'

export interface User {
  id: number
  username: string
  display_name: string
  role: Role
  department_id: number | null
  extension: string | null
  active: boolean
  /** An admin reset the password: the user must change it before anything else. */
  must_change_password: boolean
}

export interface TokenOut {
  access_token: string
  token_type: string
  expires_in: number
  user: User
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface Citizen {
  id: number | null
  name: string | null
  phone: string | null
  masked: boolean
}

export interface Ticket {
  id: number
  number: string
  version: number
  status: string
  status_label: string
  channel: string
  citizen: Citizen
  contact_name: string | null
  occurred_at: string | null
  address: string | null
  title: string
  content: string
  appeal_type: string
  category: string | null
  urgency: string
  confidential: boolean
  enterprise: boolean
  source_call_id: string | null
  primary_department_id: number | null
  sign_due: string | null
  reply_due: string | null
  return_due: string | null
  callback_due: string | null
  overdue: boolean
  dispatched_at: string | null
  signed_at: string | null
  replied_at: string | null
  closed_at: string | null
  extension_count: number
  repeat_count: number
  reopen_count: number
  return_count: number
  merged_into_id: number | null
  resolution: string | null
  transfer_target: string | null
  answer_text: string | null
  handling_text: string | null
  public_answer: string | null
  resolved: boolean | null
  satisfaction: string | null
  service_satisfaction: string | null
  callback_resolved: boolean | null
  escalation_level: number
  classification: Record<string, unknown> | null
  created_at: string
  updated_at: string
}

export interface Assignment {
  id: number
  department_id: number
  department_name: string | null
  role: string
  status: string
  parent_assignment_id: number | null
  dispatched_at: string
  signed_at: string | null
}

export interface TimelineEvent {
  id: number
  at: string
  actor_id: number | null
  actor_name: string | null
  action: string
  action_label: string
  from_status: string | null
  to_status: string | null
  note: string | null
  data: Record<string, unknown>
}

export interface TicketDetail extends Ticket {
  assignments: Assignment[]
  timeline: TimelineEvent[]
}

export interface Department {
  id: number
  code: string
  name: string
  level: 'city' | 'district' | 'street' | 'community'
  kind: 'territorial' | 'functional' | 'hotline'
  parent_id: number | null
  liaison_name: string | null
  liaison_phone: string | null
  contacts: Record<string, unknown>[]
  active: boolean
}

export interface DeptRef {
  id: number
  code: string
  name: string
}

/** One of a dispatch decision's proposals (dispatch/service.py Proposal.to_dict). */
export interface Proposal {
  primary: DeptRef
  assists: DeptRef[]
  score: number
  source: string
  mode: string
  rule_code: string | null
  rule_name: string | null
  priority: number | null
  reasons: string[]
}

export interface Decision {
  id: number
  ticket_id: number
  kind: string
  created_at: string
  actor_id: number | null
  catalogue_version: number
  place: Record<string, unknown> | null
  classifier: Record<string, unknown> | null
  proposals: Proposal[]
  excluded_department_ids: number[]
  confidence: number
  outcome: string
  reason: string | null
  primary_department_id: number | null
  assist_department_ids: number[]
  followed_proposal: boolean | null
}

export interface EscalationRecord {
  id: number
  ticket_id: number
  kind: string
  level: number
  cause: string
  instance: string
  trigger: string
  due_at: string | null
  department_id: number | null
  level_before: number | null
  level_after: number | null
  recipients: Record<string, unknown>[]
  actions: Record<string, unknown>
  note: string | null
  actor_id: number | null
  timeline_event_id: number | null
  created_at: string
}

export interface CallbackAttempt {
  id: number
  ticket_id: number
  ticket_number: string
  ticket_title: string
  status: string
  phone: string
  ivr_attempts: number
  satisfaction: string | null
  service_satisfaction: string | null
  resolved: boolean | null
  reason: string | null
  method: string | null
  log: Record<string, unknown>[]
  created_at: string
}

export interface InboxItem {
  id: number
  ticket_id: number | null
  record_id: number | null
  subject: string
  body: string
  created_at: string
  sent_at: string | null
  read_at: string | null
}

export interface InboxOut {
  items: InboxItem[]
  unread: number
  total: number
}

export interface Option {
  value: string
  label: string
}

/** GET /api/v1/vocabulary: every code the API speaks, with its Chinese label. */
export interface Vocabulary {
  statuses: Option[]
  appeal_types: Option[]
  urgencies: Option[]
  channels: Option[]
  roles: Option[]
  categories: Option[]
  return_reasons: Option[]
  not_accepted_reasons: Option[]
  emergency_services: Option[]
  satisfactions: Option[]
  department_levels: Option[]
  department_kinds: Option[]
  limit_kinds: Option[]
  limit_units: Option[]
}

/** GET /tickets/tabs: one inbox tab's count. */
export interface TabCount {
  tab: 'to_sign' | 'in_progress' | 'due_soon' | 'overdue' | 'replied' | 'closed'
  label: string
  count: number
  exact: boolean
}

export interface Attachment {
  id: number
  ticket_id: number
  filename: string
  content_type: string
  size: number
  sha256: string
  source: string
  uploaded_by_id: number | null
  created_at: string
  url: string
}

export interface TimeLimit {
  id: number
  kind: string
  appeal_type: string | null
  urgency: string | null
  amount: number
  unit: 'seconds' | 'minutes' | 'hours' | 'working_days'
}

export interface CalendarOverride {
  day: string
  is_workday: boolean
  note: string | null
}

/** POST /escalation/callbacks/{id}/answer|decide|unreachable */
export interface CallbackOutcome {
  callback_id: number
  status: string
  outcome: string
  ticket_status: string
}

/** GET /calendar/status: where each year's calendar comes from; warnings for admins (a banner). */
export interface CalendarStatus {
  years: { year: number; source: 'official' | 'notice' | 'statutory'; imported: Record<string, unknown> | null }[]
  warnings: string[]
}
