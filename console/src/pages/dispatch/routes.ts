import { Connection, DocumentChecked, Files, Position, RefreshLeft, Timer } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/types'

const DISPATCHERS: Role[] = ['dispatcher', 'supervisor', 'admin']

const routes: RouteRecordRaw[] = [
  {
    path: '/dispatch/queue',
    name: 'dispatch-queue',
    component: () => import('./QueuePage.vue'),
    meta: { title: '待派单', roles: DISPATCHERS, menu: { group: 'dispatch', order: 10, icon: markRaw(Position) } },
  },
  {
    path: '/dispatch/returns',
    name: 'dispatch-returns',
    component: () => import('./ReturnsPage.vue'),
    meta: { title: '退单审核', roles: DISPATCHERS, menu: { group: 'dispatch', order: 20, icon: markRaw(RefreshLeft) } },
  },
  {
    path: '/dispatch/review',
    name: 'dispatch-review',
    component: () => import('./ReviewPage.vue'),
    meta: { title: '回复审核', roles: DISPATCHERS, menu: { group: 'dispatch', order: 30, icon: markRaw(DocumentChecked) } },
  },
  {
    path: '/dispatch/extensions',
    name: 'dispatch-extensions',
    component: () => import('./ExtensionsPage.vue'),
    meta: { title: '延期审批', roles: DISPATCHERS, menu: { group: 'dispatch', order: 40, icon: markRaw(Timer) } },
  },
  {
    path: '/dispatch/repeats',
    name: 'dispatch-repeats',
    component: () => import('./RepeatsPage.vue'),
    meta: { title: '并单候选', roles: DISPATCHERS, menu: { group: 'dispatch', order: 50, icon: markRaw(Files) } },
  },
  {
    path: '/dispatch/coordination',
    name: 'dispatch-coordination',
    component: () => import('./CoordinationPage.vue'),
    meta: { title: '协调', roles: DISPATCHERS, menu: { group: 'dispatch', order: 60, icon: markRaw(Connection) } },
  },
]
export default routes
