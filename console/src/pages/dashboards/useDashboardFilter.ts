// The period and scope every dashboard page shows, kept in the URL (a view can be bookmarked or
// sent): ?period=day|week|month|custom&date=YYYY-MM-DD (or first/last)&department_id=N.
// A department head's scope is their department (the API's default) or a unit below it, and the
// department picker offers only that subtree; supervisors and admins start from the whole city.
import dayjs from 'dayjs'
import { computed, reactive, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'

import type { DashboardQuery, PeriodKind } from '@/api/dashboards'
import { useSession } from '@/session'
import { useReference, type DepartmentNode } from '@/stores/reference'

export interface DashboardFilter {
  period: PeriodKind
  date: string
  range: [string, string] | null
  department_id: number | null
}

const KINDS: PeriodKind[] = ['day', 'week', 'month', 'custom']

export function useDashboardFilter(defaultPeriod: PeriodKind = 'month') {
  const route = useRoute()
  const router = useRouter()
  const session = useSession()
  const reference = useReference()
  void reference.load()

  /** A department head is held to their subtree; the city roles see everything. */
  const isHead = computed(() => session.role === 'dept_head')
  const ownDepartment = computed(() => (isHead.value ? (session.user?.department_id ?? null) : null))

  function fromQuery(): DashboardFilter {
    const q = route.query
    const one = (v: unknown) => (typeof v === 'string' ? v : '')
    const period = (KINDS as string[]).includes(one(q.period)) ? (one(q.period) as PeriodKind) : defaultPeriod
    const first = one(q.first)
    const last = one(q.last)
    return {
      period,
      date: one(q.date) || dayjs().format('YYYY-MM-DD'),
      range: first && last ? [first, last] : null,
      department_id: q.department_id ? Number(q.department_id) || null : null,
    }
  }

  const filter = reactive<DashboardFilter>(fromQuery())
  if (filter.period === 'custom' && !filter.range) {
    filter.range = [dayjs().startOf('month').format('YYYY-MM-DD'), dayjs().format('YYYY-MM-DD')]
  }

  /** The query the dashboard routes take. */
  const query = computed<DashboardQuery>(() => {
    const out: DashboardQuery = { period: filter.period }
    if (filter.period === 'custom' && filter.range) [out.first, out.last] = filter.range
    else out.date = filter.date
    if (filter.department_id) out.department_id = filter.department_id
    return out
  })

  /** The month (YYYY-MM) of the chosen date, for the ranking and the 月报. */
  const month = computed(() => (filter.period === 'custom' && filter.range ? filter.range[0] : filter.date).slice(0, 7))

  /** The departments the user may choose: the whole tree, or a head's own subtree. */
  const scopeTree = computed<DepartmentNode[]>(() => {
    if (!isHead.value) return reference.departmentTree
    const own = reference.departmentNode(ownDepartment.value)
    return own ? [own] : []
  })

  /** What the scope is called (全市, or the department's name). */
  const scopeLabel = computed(() => {
    const id = filter.department_id ?? ownDepartment.value
    return id === null ? '全市' : reference.departmentName(id)
  })

  function syncUrl() {
    const q: Record<string, string> = { period: filter.period }
    if (filter.period === 'custom' && filter.range) [q.first, q.last] = filter.range
    else q.date = filter.date
    if (filter.department_id) q.department_id = String(filter.department_id)
    void router.replace({ query: q })
  }

  const page = route.name
  watch(() => route.query, () => {
    if (route.name === page) Object.assign(filter, fromQuery())
  })

  return { filter, query, month, scopeTree, scopeLabel, isHead, ownDepartment, syncUrl }
}

/** A rate (0–1) for a table cell. */
export function rate(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}

/** A KPI's value as it reads on the page (rates as %, seconds, counts). */
export function kpiText(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined) return '—'
  if (unit === '%') return rate(value)
  if (unit === '秒') return `${value.toFixed(1)} 秒`
  if (unit === '分') return value.toFixed(2)
  return `${value.toLocaleString('zh-CN')} ${unit}`
}
