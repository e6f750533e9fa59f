// The supervisors' dashboards (/api/v1/dashboards): KPIs with their definitions, trend, mixes,
// districts, overdue list, escalation board, 红黑榜, hot topics, the wallboard, Excel exports and
// the 月报. Shapes as dashboards/README.md documents them.
import { api } from './client'

export type PeriodKind = 'day' | 'week' | 'month' | 'custom'

/** The query every dashboard route takes (the period and the scope). */
export interface DashboardQuery {
  period: PeriodKind
  date?: string
  first?: string
  last?: string
  department_id?: number
  [key: string]: string | number | undefined
}

export interface PeriodOut {
  kind: PeriodKind
  first: string
  last: string
  label: string
  start: string
  end: string
}

export interface ScopeOut {
  department_id: number | null
  label: string
  level: string
}

export interface KpiDefinition {
  key: string
  name: string
  group: string
  unit: string
  definition: string
  city_only: boolean
}

export interface KpiValue extends KpiDefinition {
  value: number | null
  numerator: number | null
  denominator: number | null
  applies: boolean
}

export interface DashboardSettings {
  weights: { response: number; resolution: number; satisfaction: number }
  basic_satisfied_weight: number
  ranking_min_cases: number
}

export interface Definitions {
  attribution: string
  kpis: KpiDefinition[]
  score: string
  ranking: string
}

export interface KpiOverview {
  period: PeriodOut
  scope: ScopeOut
  kpis: KpiValue[]
  score: number | null
  settings: DashboardSettings
  computed_at: string
}

export interface TrendPoint {
  label: string
  start: string
  tickets: number
  calls_offered: number | null
  answer_rate: number | null
  answer_rate_15s: number | null
  ontime_rate: number | null
  satisfaction_rate: number | null
  score: number | null
}

export interface Trend {
  period: PeriodOut
  scope: ScopeOut
  series: TrendPoint[]
  names: Record<string, string>
}

export interface MixItem {
  key?: string | null
  name: string
  count: number
}

export interface Mix {
  period: PeriodOut
  scope: ScopeOut
  category: MixItem[]
  appeal_type: MixItem[]
  channel: MixItem[]
  urgency: MixItem[]
}

export interface Districts {
  period: PeriodOut
  scope: ScopeOut
  items: MixItem[]
}

export interface TicketRow {
  ticket_id: number
  number: string
  title: string
  status: string
  status_label: string
  category: string | null
  appeal_type: string
  urgency: string
  department_id: number | null
  department: string | null
  due: string | null
  overdue_hours: number | null
  escalation_level: number | null
}

export interface Overdue {
  scope: ScopeOut
  total: number
  items: TicketRow[]
}

export interface EscalationBoard {
  scope: ScopeOut
  levels: { level: number; name: string; count: number }[]
  items: TicketRow[]
}

export const RANK_FIGURES = [
  'response_rate',
  'resolution_rate',
  'satisfaction_rate',
  'sign_rate',
  'ontime_rate',
  'return_rate',
  'reopen_rate',
  'extension_rate',
  'callback_rate',
] as const
export type RankFigure = (typeof RANK_FIGURES)[number]

export interface RankRow {
  department_id: number
  code: string
  name: string
  level: string
  cases: number
  tickets: number
  score: number | null
  eligible: boolean
  rank: number | null
  figures: Record<RankFigure, number | null>
  kpis: KpiValue[]
}

export interface Ranking {
  period: PeriodOut
  scope: ScopeOut
  definition: string
  score_definition: string
  settings: DashboardSettings
  red: RankRow[]
  black: RankRow[]
  rows: RankRow[]
}

export interface HotTopic {
  id: number
  rank: number
  title: string
  place: string | null
  keywords: string[]
  heat: number
  heat_parts: Record<string, number>
  size: number
  citizens: number
  this_week: number
  last_week: number
  rising: boolean
  first: string
  last: string
  tickets: { ticket_id: number; number: string | null }[]
}

export interface HotTopics {
  scope: ScopeOut
  refreshed_at: string | null
  window_days: number
  appeals: number
  items: HotTopic[]
}

export interface Wallboard {
  at: string
  queue: { waiting: number; longest_wait_seconds: number; talking: number }
  agents: Record<string, number>
  agent_labels: Record<string, string>
  today: {
    calls_offered: number
    calls_answered: number
    calls_abandoned: number
    answer_rate: number | null
    answer_rate_15s: number | null
    tickets: number
    direct: number
  }
  overdue: number
  escalations: { level: number; name: string; count: number }[]
  hot_topics: { title: string; place: string | null; heat: number; size: number; rising: boolean }[]
}

/** The tables that have an Excel twin under export/. */
export type ExportTable = 'kpis' | 'trend' | 'mix' | 'districts' | 'overdue' | 'escalations' | 'ranking' | 'hot-topics'

const BASE = 'dashboards'

export const dashboardsApi = {
  definitions: () => api<Definitions>(`${BASE}/definitions`),
  kpis: (query: DashboardQuery) => api<KpiOverview>(`${BASE}/kpis`, { query }),
  trend: (query: DashboardQuery) => api<Trend>(`${BASE}/trend`, { query }),
  mix: (query: DashboardQuery) => api<Mix>(`${BASE}/mix`, { query }),
  districts: (query: DashboardQuery) => api<Districts>(`${BASE}/districts`, { query }),
  overdue: (query: DashboardQuery & { limit?: number }) => api<Overdue>(`${BASE}/overdue`, { query }),
  escalations: (query: DashboardQuery & { limit?: number }) => api<EscalationBoard>(`${BASE}/escalations`, { query }),
  ranking: (query: { month?: string; department_id?: number }) => api<Ranking>(`${BASE}/ranking`, { query }),
  hotTopics: (query: DashboardQuery & { limit?: number }) => api<HotTopics>(`${BASE}/hot-topics`, { query }),
  wallboard: () => api<Wallboard>(`${BASE}/wallboard`),
  /** The wallboard's Server-Sent Events (EventSource cannot send headers: the token goes in the URL). */
  wallboardStreamUrl: (token: string) => `/api/v1/${BASE}/wallboard/stream?token=${encodeURIComponent(token)}`,
  exportTable: (table: ExportTable, query: DashboardQuery) => api<Blob>(`${BASE}/export/${table}.xlsx`, { query, blob: true }),
  report: (query: { month: string; department_id?: number }) => api<Blob>(`${BASE}/report.xlsx`, { query, blob: true }),
  settings: () => api<DashboardSettings>(`${BASE}/settings`),
  /** Admins: the 三率 weights, the weight of 基本满意, the fewest cases a ranked unit needs. */
  saveSettings: (body: DashboardSettings) => api<DashboardSettings>(`${BASE}/settings`, { method: 'PUT', json: body }),
}
