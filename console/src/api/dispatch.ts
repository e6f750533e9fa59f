import { api } from './client'
import type { Decision } from './types'

export interface Rule {
  code: string
  name: string
  priority: number
  primary: string
  assists: string[]
  confidence: number
  conditions: Record<string, unknown>
  enabled: boolean
  note: string | null
  revision: number
  updated_at: string
}

export interface RuleChange {
  id: number
  rule_code: string
  action: 'create' | 'update' | 'delete'
  source: string
  changed_at: string
  changed_by_name: string | null
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
}

export interface ImportOut {
  created: number
  updated: number
  deleted: number
  unchanged: number
  version: number
}

const BASE = 'dispatch'

export const dispatchApi = {
  decisions: (ticketId: number) => api<Decision[]>(`${BASE}/tickets/${ticketId}/decisions`),
  rules: () => api<Rule[]>(`${BASE}/rules`),
  rule: (code: string) => api<Rule>(`${BASE}/rules/${encodeURIComponent(code)}`),
  createRule: (body: Record<string, unknown>) => api<Rule>(`${BASE}/rules`, { json: body }),
  updateRule: (code: string, body: Record<string, unknown>) =>
    api<Rule>(`${BASE}/rules/${encodeURIComponent(code)}`, { method: 'PATCH', json: body }),
  deleteRule: (code: string) => api<null>(`${BASE}/rules/${encodeURIComponent(code)}`, { method: 'DELETE' }),
  ruleChanges: (code?: string) => api<RuleChange[]>(`${BASE}/rule-changes`, { query: { code, limit: 200 } }),
  exportCatalogue: () => api<string>(`${BASE}/catalogue/export`, { text: true }),
  importCatalogue: (text: string, replace: boolean) =>
    api<ImportOut>(`${BASE}/catalogue/import`, {
      method: 'POST',
      body: text,
      contentType: 'application/yaml; charset=utf-8',
      query: { replace },
    }),
}
