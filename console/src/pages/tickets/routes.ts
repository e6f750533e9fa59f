import { Document } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

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
  },
]
export default routes
