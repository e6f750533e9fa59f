// What the agent's intake form calls: the caller's history, the classifier's proposals while
// typing, address completion, similar open tickets, and registration itself.
import { api } from './client'
import type { Citizen, Ticket, TicketDetail } from './types'

export interface HeadProposal {
  label: string | null
  top: { label: string; score: number }[]
  abstained: boolean
}

/** POST /classify: each head's top-3 with calibrated scores; the safety rule that fired. */
export interface Classification {
  model_version: string
  category: HeadProposal
  appeal_type: HeadProposal | null
  urgency: HeadProposal
  urgency_rule: { id: string; name: string; urgency: string; matched: string } | null
  department: HeadProposal | null
}

export interface CitizenHistory {
  citizen: Citizen | null
  ticket_count: number
  open_tickets: Ticket[]
  recent_tickets: Ticket[]
}

export interface PlaceSuggestion {
  value: string
  name: string
  kind: string
  units: string[]
  department: { id: number; code: string; name: string } | null
}

export interface TicketBrief {
  id: number
  number: string
  status: string
  version: number
  title: string
  channel: string
  appeal_type: string
  category: string | null
  urgency: string
  enterprise: boolean
  address: string | null
  return_count: number
  repeat_count: number
  primary_department_id: number | null
  created_at: string
}

export interface SimilarTicket {
  ticket: TicketBrief
  score: number
  similarity: number
  same_citizen: boolean
  same_place: boolean
}

export interface NewAppeal {
  title: string
  content: string
  appeal_type: string
  channel?: string
  phone?: string | null
  contact_name?: string | null
  address?: string | null
  occurred_at?: string | null
  category?: string | null
  urgency?: string
  confidential?: boolean
  enterprise?: boolean
  source_call_id?: string | null
}

export const intakeApi = {
  classify: (title: string, content: string, signal?: AbortSignal) =>
    api<Classification>('classify', { json: { title, content }, signal }),
  history: (phone: string) => api<CitizenHistory>('citizens/history', { json: { phone } }),
  suggestPlaces: (q: string) => api<PlaceSuggestion[]>('dispatch/places/suggest', { query: { q } }),
  similar: (body: { title: string; content: string; address?: string | null; phone?: string | null; category?: string | null }, signal?: AbortSignal) =>
    api<SimilarTicket[]>('dispatch/similar', { json: body, signal }),
  register: (body: NewAppeal) => api<TicketDetail>('tickets', { json: body }),
  merge: (id: number, version: number, into: number, note?: string) =>
    api<TicketDetail>(`tickets/${id}/merge`, { json: { version, into_ticket_id: into, note } }),
}
