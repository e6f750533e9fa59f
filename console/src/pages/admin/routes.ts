import { Guide } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/types'

/** Hotline staff may read the 派单目录; only admins change it (the API checks). */
const HOTLINE: Role[] = ['agent', 'dispatcher', 'callback_agent', 'supervisor', 'admin']

const routes: RouteRecordRaw[] = [
  {
    path: '/admin/dispatch-rules',
    name: 'dispatch-rules',
    component: () => import('./DispatchRules.vue'),
    meta: { title: '派单目录', roles: HOTLINE, menu: { group: 'admin', order: 40, icon: markRaw(Guide) } },
  },
]
export default routes
