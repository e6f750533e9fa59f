import { api } from './client'
import type { TicketBrief } from './intake'
import type { Decision, Proposal, TicketDetail } from './types'

export interface Rule {
  code: string
  name: string
  priority: number
  primary: string
  assists: string[]
  confidence: number
  conditions: Record<string, unknown>
  enabled: boolean
  note: string | null
  revision: number
  updated_at: string
}

export interface RuleChange {
  id: number
  rule_code: string
  action: 'create' | 'update' | 'delete'
  source: string
  changed_at: string
  changed_by_name: string | null
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
}

export interface ImportOut {
  created: number
  updated: number
  deleted: number
  unchanged: number
  version: number
}

/** One row of 待派单 / 退单 (GET /dispatch/queue): the ticket, its latest decision's top three proposals. */
export interface QueueItem {
  ticket: TicketBrief
  decision_id: number | null
  /** pending: not routed yet (the worker's round is a second away). */
  outcome: string
  reason: string | null
  confidence: number
  proposals: Proposal[]
  repeat_candidates: RepeatCandidate[]
}

export interface RepeatCandidate {
  id: number
  ticket_id: number
  candidate_id: number
  score: number
  similarity: number
  same_citizen: boolean
  same_place: boolean
  status: string
  created_at: string
}

export interface ProposalsOut {
  ticket_id: number
  place: Record<string, unknown>
  classifier: Record<string, unknown> | null
  proposals: Proposal[]
  confidence: number
  auto: boolean
  reason: string
  catalogue_version: number
  excluded_department_ids: number[]
}

export interface Coordination {
  id: number
  ticket_id: number
  status: string
  opened_at: string
  return_count: number
  departments: number[]
  reason: string
  settled_at: string | null
  settled_by_id: number | null
  department_id: number | null
  note: string | null
  ticket: TicketBrief
  proposals: Proposal[]
}

export interface DispatchBody {
  version: number
  primary_department_id?: number | null
  assist_department_ids?: number[] | null
  note?: string | null
}

export interface RuleReturnRate {
  rule_code: string | null
  rule_name: string | null
  dispatched: number
  auto: number
  returned: number
  return_rate: number
}

const BASE = 'dispatch'

export const dispatchApi = {
  queue: (limit = 200) => api<QueueItem[]>(`${BASE}/queue`, { query: { limit } }),
  /** Fresh proposals (for a returned ticket: without the departments that sent it back). */
  proposals: (ticketId: number) => api<ProposalsOut>(`${BASE}/tickets/${ticketId}/proposals`),
  dispatch: (ticketId: number, body: DispatchBody) => api<TicketDetail>(`tickets/${ticketId}/dispatch`, { json: body }),
  /** 退单 accepted → 改派. */
  acceptReturn: (ticketId: number, body: DispatchBody) => api<TicketDetail>(`tickets/${ticketId}/return/accept`, { json: body }),
  /** 退单 rejected (驳回): back to the same department. */
  rejectReturn: (ticketId: number, version: number, note: string) =>
    api<TicketDetail>(`tickets/${ticketId}/return/reject`, { json: { version, note } }),
  coordination: (status: 'open' | 'settled' = 'open') => api<Coordination[]>(`${BASE}/coordination`, { query: { status } }),
  settle: (id: number, body: { department_id: number; assist_department_ids: number[]; note: string }) =>
    api<unknown>(`${BASE}/coordination/${id}/settle`, { json: body }),
  mergeRepeat: (candidateId: number, note?: string) =>
    api<RepeatCandidate>(`${BASE}/repeats/${candidateId}/merge`, { json: { note } }),
  dismissRepeat: (candidateId: number) => api<RepeatCandidate>(`${BASE}/repeats/${candidateId}/dismiss`, { method: 'POST' }),
  decisions: (ticketId: number) => api<Decision[]>(`${BASE}/tickets/${ticketId}/decisions`),
  rules: () => api<Rule[]>(`${BASE}/rules`),
  rule: (code: string) => api<Rule>(`${BASE}/rules/${encodeURIComponent(code)}`),
  createRule: (body: Record<string, unknown>) => api<Rule>(`${BASE}/rules`, { json: body }),
  updateRule: (code: string, body: Record<string, unknown>) =>
    api<Rule>(`${BASE}/rules/${encodeURIComponent(code)}`, { method: 'PATCH', json: body }),
  deleteRule: (code: string) => api<null>(`${BASE}/rules/${encodeURIComponent(code)}`, { method: 'DELETE' }),
  ruleReturnRates: () => api<RuleReturnRate[]>(`${BASE}/rule-return-rates`),
  ruleChanges: (code?: string) => api<RuleChange[]>(`${BASE}/rule-changes`, { query: { code, limit: 200 } }),
  exportCatalogue: () => api<string>(`${BASE}/catalogue/export`, { text: true }),
  importCatalogue: (text: string, replace: boolean) =>
    api<ImportOut>(`${BASE}/catalogue/import`, {
      method: 'POST',
      body: text,
      contentType: 'application/yaml; charset=utf-8',
      query: { replace },
    }),
}
