import { api } from './client'
import type { CalendarOverride, CalendarStatus, Department, Role, TimeLimit, User } from './types'

export interface UserCreate {
  username: string
  display_name: string
  password: string
  role: Role
  department_id: number | null
  extension?: string | null
}

export type UserUpdate = Partial<Pick<User, 'display_name' | 'role' | 'department_id' | 'extension'>>

export interface DepartmentCreate {
  code: string
  name: string
  level: Department['level']
  kind: Department['kind']
  parent_id: number | null
  liaison_name?: string | null
  liaison_phone?: string | null
}

export type DepartmentUpdate = Partial<Pick<Department, 'name' | 'liaison_name' | 'liaison_phone' | 'active'>>

/** A 紧急程度安全规则: any keyword or pattern (after the exclusions are removed) decides the urgency. */
export interface UrgencyRule {
  id: string
  name: string
  urgency: '紧急' | '特急'
  keywords: string[]
  patterns: string[]
  exclude: string[]
}

export const adminApi = {
  users: () => api<User[]>('users'),
  createUser: (body: UserCreate) => api<User>('users', { json: body }),
  updateUser: (id: number, body: UserUpdate) => api<User>(`users/${id}`, { method: 'PATCH', json: body }),
  /** 停用 (its tokens stop working at once) / 启用. */
  setActive: (id: number, active: boolean) => api<User>(`users/${id}/${active ? 'enable' : 'disable'}`, { method: 'POST' }),
  /** 重置密码: the user must choose a new one at the next login; every earlier token stops working. */
  resetPassword: (id: number, newPassword: string) =>
    api<User>(`users/${id}/password`, { json: { new_password: newPassword } }),
  /** 强制下线 (退出所有登录): every token the user holds stops working. */
  signOut: (id: number) => api<User>(`users/${id}/sign-out`, { method: 'POST' }),
  createDepartment: (body: DepartmentCreate) => api<Department>('departments', { json: body }),
  updateDepartment: (id: number, body: DepartmentUpdate) =>
    api<Department>(`departments/${id}`, { method: 'PATCH', json: body }),
  timeLimits: () => api<TimeLimit[]>('time-limits'),
  setTimeLimit: (body: Omit<TimeLimit, 'id'>) => api<TimeLimit>('time-limits', { method: 'PUT', json: body }),
  calendar: () => api<CalendarOverride[]>('calendar/overrides'),
  calendarStatus: () => api<CalendarStatus>('calendar/status'),
  setCalendar: (body: CalendarOverride) => api<CalendarOverride>('calendar/overrides', { method: 'PUT', json: body }),
  deleteCalendar: (day: string) => api<void>(`calendar/overrides/${day}`, { method: 'DELETE' }),
  urgencyRules: () => api<{ rules: UrgencyRule[] }>('urgency-rules'),
  /** Replaces the whole set; the API refuses a set the classifier could not use, and nothing changes. */
  setUrgencyRules: (rules: UrgencyRule[]) =>
    api<{ rules: UrgencyRule[] }>('urgency-rules', { method: 'PUT', json: { rules } }),
  escalationConfig: () => api<Record<string, unknown>>('escalation/config'),
  setEscalationConfig: (body: Record<string, unknown>) =>
    api<Record<string, unknown>>('escalation/config', { method: 'PUT', json: body }),
}
