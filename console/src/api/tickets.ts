import { api } from './client'
import type { Page, Ticket, TicketDetail } from './types'

/** One 延期申请 with its ticket (GET /extension-requests). */
export interface ExtensionRequestItem {
  id: number
  ticket_id: number
  working_days: number
  reason: string
  status: string
  requested_at: string
  decided_at: string | null
  new_reply_due: string | null
  requested_by_name: string | null
  ticket: Ticket
}

export interface TicketQuery {
  status?: string[]
  department_id?: number | null
  category?: string
  appeal_type?: string
  urgency?: string
  overdue?: boolean | null
  created_from?: string
  created_to?: string
  q?: string
  page?: number
  page_size?: number
}

export const ticketsApi = {
  list: (query: TicketQuery) => api<Page<Ticket>>('tickets', { query: { ...query } as Record<string, never> }),
  get: (id: number) => api<TicketDetail>(`tickets/${id}`),
  /** One POST per transition (`sign`, `return`, `extension`, ...); the body carries the version seen. */
  act: (id: number, action: string, body: Record<string, unknown>) =>
    api<TicketDetail>(`tickets/${id}/${action}`, { json: body }),
  extensionRequests: (status = 'pending') => api<ExtensionRequestItem[]>('extension-requests', { query: { status } }),
}
