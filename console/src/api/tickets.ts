import { api } from './client'
import type { Page, Ticket, TicketDetail } from './types'

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
}
