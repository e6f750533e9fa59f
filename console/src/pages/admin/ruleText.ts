// The 派单目录's conditions and changes in words (all → 且, any → 或, none → 非).
import type { RuleChange } from '@/api/dispatch'

export const DEPT_TOKENS: Record<string, string> = {
  '@street': '属地街道（镇）',
  '@district': '属地区',
  '@community': '属地社区',
}
const LEAF_LABELS: Record<string, string> = {
  keywords: '含任一词',
  keywords_all: '同时含',
  about: '诉求对象为（非顺带提及）',
  regex: '正则',
  category: '业务领域',
  appeal_type: '诉求类型',
  channel: '渠道',
  urgency: '紧急程度',
  enterprise: '涉企',
  district: '区',
  street: '街道',
  has_place: '有地址',
}
export const FIELD_LABELS: Record<string, string> = {
  code: '编码',
  name: '名称',
  priority: '优先级',
  confidence: '置信度',
  primary: '主办单位',
  assists: '协办单位',
  enabled: '启用',
  when: '条件',
  note: '备注',
  revision: '版本',
}

type Labeller = (kind: 'appeal_types' | 'channels' | 'urgencies', value: string) => string
const VALUE_KINDS: Record<string, 'appeal_types' | 'channels' | 'urgencies'> = {
  appeal_type: 'appeal_types',
  channel: 'channels',
  urgency: 'urgencies',
}

type Cond = Record<string, unknown>

function leafText(leaf: Cond, label: Labeller): string {
  return Object.entries(leaf)
    .map(([key, value]) => {
      const name = LEAF_LABELS[key] ?? key
      if (typeof value === 'boolean') return `${name}：${value ? '是' : '否'}`
      if (Array.isArray(value)) {
        const kind = VALUE_KINDS[key]
        const shown = value.slice(0, 6).map((v) => (kind ? label(kind, String(v)) : String(v))).join('、')
        return `${name}：${shown}${value.length > 6 ? `…等${value.length}个` : ''}`
      }
      return `${name}：${String(value)}`
    })
    .join(' 且 ')
}

export function summarize(cond: unknown, label: Labeller): string {
  if (!cond || typeof cond !== 'object') return ''
  const c = cond as Cond
  if (!('all' in c || 'any' in c || 'none' in c)) return leafText(c, label)
  const parts: string[] = []
  for (const sub of (c.all as Cond[] | undefined) ?? []) parts.push(summarize(sub, label))
  if (Array.isArray(c.any)) {
    const any = (c.any as Cond[]).map((sub) => summarize(sub, label))
    parts.push(any.length > 1 ? `（${any.join(' 或 ')}）` : (any[0] ?? ''))
  }
  if (Array.isArray(c.none)) parts.push(`非（${(c.none as Cond[]).map((sub) => summarize(sub, label)).join(' 或 ')}）`)
  return parts.join(' 且 ')
}

/** What a change did, one line per field that changed. */
export function changeLines(change: RuleChange, dept: (code: string) => string, label: Labeller): string[] {
  const before = change.before ?? {}
  const after = change.after ?? {}
  const show = (key: string, value: unknown): string => {
    if (key === 'when') return summarize(value, label) || '（空）'
    if (key === 'primary') return value ? dept(String(value)) : '（空）'
    if (value === null || value === undefined || value === '') return '（空）'
    if (Array.isArray(value)) return value.length ? value.map((v) => dept(String(v))).join('、') : '（无）'
    if (typeof value === 'boolean') return value ? '是' : '否'
    return String(value)
  }
  if (change.action === 'create' || change.action === 'delete') {
    const r = change.action === 'create' ? after : before
    return [`${String(r.name)} · 优先级 ${String(r.priority)} · 主办 ${show('primary', r.primary)}`, `条件：${show('when', r.when)}`]
  }
  const norm = (key: string, v: unknown) => (key === 'enabled' ? v !== false : (v ?? null))
  return ['name', 'priority', 'confidence', 'primary', 'assists', 'enabled', 'when', 'note']
    .filter((k) => JSON.stringify(norm(k, before[k])) !== JSON.stringify(norm(k, after[k])))
    .map((k) => `${FIELD_LABELS[k] ?? k}：${show(k, norm(k, before[k]))} → ${show(k, norm(k, after[k]))}`)
}
