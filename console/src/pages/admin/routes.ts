import { Bell, Calendar, Guide, OfficeBuilding, Timer, User, WarnTriangleFilled } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/types'

/** Hotline staff may read the 派单目录; only admins change it (the API checks). */
const HOTLINE: Role[] = ['agent', 'dispatcher', 'callback_agent', 'supervisor', 'admin']
const ADMIN: Role[] = ['admin']

const routes: RouteRecordRaw[] = [
  {
    path: '/admin/users',
    name: 'admin-users',
    component: () => import('./UsersPage.vue'),
    meta: { title: '用户管理', roles: ADMIN, menu: { group: 'admin', order: 10, icon: markRaw(User) } },
  },
  {
    path: '/admin/departments',
    name: 'admin-departments',
    component: () => import('./DepartmentsPage.vue'),
    meta: { title: '部门管理', roles: ADMIN, menu: { group: 'admin', order: 20, icon: markRaw(OfficeBuilding) } },
  },
  {
    path: '/admin/time-limits',
    name: 'admin-time-limits',
    component: () => import('./TimeLimitsPage.vue'),
    meta: { title: '时限设置', roles: ADMIN, menu: { group: 'admin', order: 30, icon: markRaw(Timer) } },
  },
  {
    path: '/admin/calendar',
    name: 'admin-calendar',
    component: () => import('./CalendarPage.vue'),
    meta: { title: '工作日历', roles: ADMIN, menu: { group: 'admin', order: 35, icon: markRaw(Calendar) } },
  },
  {
    path: '/admin/urgency-rules',
    name: 'admin-urgency-rules',
    component: () => import('./UrgencyRulesPage.vue'),
    meta: { title: '紧急程度规则', roles: ['admin', 'supervisor'], menu: { group: 'admin', order: 38, icon: markRaw(Bell) } },
  },
  {
    path: '/admin/dispatch-rules',
    name: 'dispatch-rules',
    component: () => import('./DispatchRules.vue'),
    meta: { title: '派单目录', roles: HOTLINE, menu: { group: 'admin', order: 40, icon: markRaw(Guide) } },
  },
  {
    path: '/admin/escalation',
    name: 'admin-escalation',
    component: () => import('./EscalationSettings.vue'),
    meta: { title: '督办设置', roles: ADMIN, menu: { group: 'admin', order: 50, icon: markRaw(WarnTriangleFilled) } },
  },
]
export default routes
