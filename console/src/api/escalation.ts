import { api } from './client'
import type { CallbackAttempt, CallbackOutcome, EscalationRecord } from './types'

export interface CallbackAnswer {
  satisfaction: string
  resolved: boolean
  service_satisfaction: string | null
  reason: string | null
  /** 不满意: is the cause reasonable (the ticket is reopened)? null: the configured rule decides. */
  reasonable: boolean | null
}

export const escalationApi = {
  records: (ticketId: number) => api<EscalationRecord[]>(`escalation/tickets/${ticketId}/records`),
  ticketCallbacks: (ticketId: number) => api<CallbackAttempt[]>(`escalation/tickets/${ticketId}/callbacks`),
  /** 回访员 queue: callers not reached by IVR nor SMS, and 不满意 answers awaiting a judgement. */
  callbackQueue: () => api<CallbackAttempt[]>('escalation/callback-queue'),
  answer: (callbackId: number, body: CallbackAnswer) =>
    api<CallbackOutcome>(`escalation/callbacks/${callbackId}/answer`, { json: body }),
  decide: (callbackId: number, body: { reasonable: boolean; note: string | null }) =>
    api<CallbackOutcome>(`escalation/callbacks/${callbackId}/decide`, { json: body }),
  unreachable: (callbackId: number, body: { note: string | null }) =>
    api<CallbackOutcome>(`escalation/callbacks/${callbackId}/unreachable`, { json: body }),
}
