import { Document } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import { useSession } from '@/session'

const routes: RouteRecordRaw[] = [
  {
    path: '/tickets',
    name: 'tickets',
    component: () => import('./TicketList.vue'),
    meta: { title: '工单查询', menu: { group: 'work', order: 10, icon: markRaw(Document) } },
  },
  {
    path: '/tickets/:id(\\d+)',
    name: 'ticket',
    component: () => import('./TicketPage.vue'),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { title: '工单详情' },
    // A department's people work a ticket on their own page (签收, 回复, 退单 …), wherever the link came from.
    beforeEnter: (to) => {
      const role = useSession().role
      if (role === 'dept_handler' || role === 'dept_head') {
        return { name: 'department-ticket', params: { id: to.params.id } }
      }
      return true
    },
  },
]
export default routes
