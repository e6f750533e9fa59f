import { api, ApiError } from './client'
import type { Page, TabCount, Ticket, TicketDetail } from './types'

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
  /** One of the inbox tabs (待签收, 办理中, 即将超期, 已超期, 已回复, 已办结). */
  tab?: TabCount['tab']
  page?: number
  page_size?: number
}

export const ticketsApi = {
  list: (query: TicketQuery) => api<Page<Ticket>>('tickets', { query: { ...query } as Record<string, never> }),
  /** The inbox tabs' counts of the tickets the user may see. */
  tabs: () => api<TabCount[]>('tickets/tabs'),
  get: (id: number) => api<TicketDetail>(`tickets/${id}`),
  /** One POST per transition (`sign`, `return`, `extension`, ...); the body carries the version seen. */
  act: (id: number, action: string, body: Record<string, unknown>) =>
    api<TicketDetail>(`tickets/${id}/${action}`, { json: body }),
  /** 签收 with the version seen; when the ticket moved on since it was read (a 督办 escalation),
   *  what it is now is signed. */
  sign: async (id: number, version: number): Promise<TicketDetail> => {
    try {
      return await ticketsApi.act(id, 'sign', { version })
    } catch (exc) {
      if (!(exc instanceof ApiError && exc.code === 'stale_version')) throw exc
      const now = await ticketsApi.get(id)
      return await ticketsApi.act(id, 'sign', { version: now.version })
    }
  },
  extensionRequests: (status = 'pending') => api<ExtensionRequestItem[]>('extension-requests', { query: { status } }),
}
