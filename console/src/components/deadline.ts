import type { Ticket } from '@/api/types'

/** The deadline that matters now for a ticket in its current status, and what it is for. */
export function currentDeadline(ticket: Ticket): { label: string; due: string } | null {
  if (ticket.status === 'dispatched' && ticket.sign_due && !ticket.signed_at) return { label: '签收', due: ticket.sign_due }
  if ((ticket.status === 'dispatched' || ticket.status === 'in_progress') && ticket.reply_due) {
    return { label: '办结', due: ticket.reply_due }
  }
  if (ticket.status === 'awaiting_callback' && ticket.callback_due) return { label: '回访', due: ticket.callback_due }
  return null
}
