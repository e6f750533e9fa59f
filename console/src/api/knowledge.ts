// 知识库: search, articles with their versions, the editor's drafts and proposals, the approval
// queue (knowledge/api.py). 直办 from an article is the ticket's own `answer` with `article_id`.
import { api } from './client'
import type { Page } from './types'

/** offered: agents answer from it today; the others are what editors and departments see. */
export type ArticleState = 'offered' | 'not_yet_valid' | 'expired' | 'withdrawn' | 'draft' | 'proposed'
export type VersionStatus = 'draft' | 'proposed' | 'approved' | 'rejected' | 'superseded'

/** What a search hit and an opened article both say of the article. */
interface ArticleSummary {
  id: number
  title: string
  category: string
  department_id: number
  status: string
  state: ArticleState
  state_label: string
  valid_from: string | null
  valid_to: string | null
  current_version: number | null
  usage_count: number
  updated_at: string
}

export interface ArticleHit extends ArticleSummary {
  /** HTML-escaped by the server; the query's words in <em>. */
  title_html: string
  passage_html: string
}

export interface ArticleVersion {
  id: number
  article_id: number
  number: number
  status: VersionStatus
  status_label: string
  title: string
  body: string
  category: string
  department_id: number
  valid_from: string | null
  valid_to: string | null
  change_note: string | null
  author_name: string
  created_at: string
  proposed_at: string | null
  reviewer_name: string | null
  reviewed_at: string | null
  review_note: string | null
}

export interface QueueItem extends ArticleVersion {
  article_title: string
  article_current_version: number | null
}

export interface Article extends ArticleSummary {
  body: string
  created_at: string
  may_edit: boolean
  may_review: boolean
  versions: ArticleVersion[]
}

export interface ArticleUse {
  ticket_id: number
  ticket_number: string
  version_number: number
  user_name: string | null
  at: string
}

export interface ArticleInput {
  title: string
  body: string
  category: string
  department_id: number | null
  valid_from: string | null
  valid_to: string | null
  change_note: string | null
  propose: boolean
}

export interface ArticleSearch {
  q?: string
  category?: string
  department_id?: number | null
  scope?: 'offered' | 'all'
  status?: string
  /** 即将到期: valid_to within this many days. */
  expiring_within?: number
  page?: number
  page_size?: number
}

export const knowledgeApi = {
  search: (query: ArticleSearch) =>
    api<Page<ArticleHit>>('knowledge/articles', { query: { ...query } as Record<string, never> }),
  get: (id: number) => api<Article>(`knowledge/articles/${id}`),
  uses: (id: number) => api<ArticleUse[]>(`knowledge/articles/${id}/uses`),
  create: (body: ArticleInput) => api<ArticleVersion>('knowledge/articles', { json: body }),
  edit: (id: number, body: ArticleInput) => api<ArticleVersion>(`knowledge/articles/${id}/versions`, { json: body }),
  withdraw: (id: number) => api<Article>(`knowledge/articles/${id}/withdraw`, { method: 'POST' }),
  versions: (status: VersionStatus) => api<QueueItem[]>('knowledge/versions', { query: { status } }),
  version: (id: number) => api<ArticleVersion>(`knowledge/versions/${id}`),
  update: (id: number, body: ArticleInput) =>
    api<ArticleVersion>(`knowledge/versions/${id}`, { method: 'PUT', json: body }),
  propose: (id: number) => api<ArticleVersion>(`knowledge/versions/${id}/propose`, { method: 'POST' }),
  approve: (id: number, note: string | null) =>
    api<ArticleVersion>(`knowledge/versions/${id}/approve`, { json: { note } }),
  reject: (id: number, note: string) => api<ArticleVersion>(`knowledge/versions/${id}/reject`, { json: { note } }),
}
