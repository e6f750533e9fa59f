import { api } from './client'
import type { InboxItem, InboxOut } from './types'

export const inboxApi = {
  list: (query: { unread_only?: boolean; limit?: number; offset?: number } = {}) => api<InboxOut>('inbox', { query }),
  markRead: (id: number) => api<InboxItem>(`inbox/${id}/read`, { method: 'POST' }),
}
