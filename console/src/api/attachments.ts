import { api } from './client'
import type { Attachment } from './types'

export const attachmentsApi = {
  list: (ticketId: number) => api<Attachment[]>(`tickets/${ticketId}/attachments`),
  /** Add files to a ticket (all or nothing): 413 too large, 415 a type not allowed, 409 too many. */
  upload: (ticketId: number, files: File[]) => {
    const form = new FormData()
    for (const f of files) form.append('file', f, f.name)
    return api<Attachment[]>(`tickets/${ticketId}/attachments`, { method: 'POST', body: form })
  },
  /** The file's bytes (the download needs the bearer token, so it is fetched, not linked). */
  content: (attachment: Attachment) => api<Blob>(attachment.url, { blob: true }),
}
