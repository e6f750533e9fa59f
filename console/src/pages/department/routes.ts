import { Tickets } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/types'

const DEPARTMENT: Role[] = ['dept_handler', 'dept_head']

const routes: RouteRecordRaw[] = [
  {
    path: '/department/inbox',
    name: 'department-inbox',
    component: () => import('./DepartmentInbox.vue'),
    meta: { title: '承办工单', roles: DEPARTMENT, menu: { group: 'department', order: 10, icon: markRaw(Tickets) } },
  },
  {
    path: '/department/tickets/:id(\\d+)',
    name: 'department-ticket',
    component: () => import('./DepartmentTicket.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { title: '工单办理', roles: DEPARTMENT },
  },
]
export default routes
