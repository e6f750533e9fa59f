import { api } from './client'
import type { CallbackAttempt, EscalationRecord } from './types'

export const escalationApi = {
  records: (ticketId: number) => api<EscalationRecord[]>(`escalation/tickets/${ticketId}/records`),
  ticketCallbacks: (ticketId: number) => api<CallbackAttempt[]>(`escalation/tickets/${ticketId}/callbacks`),
}
