import { Headset } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  {
    path: '/agent',
    name: 'agent-desk',
    component: () => import('./AgentPage.vue'),
    meta: {
      title: '话务台',
      roles: ['agent', 'supervisor', 'admin'],
      keepAlive: true,
      menu: { group: 'agent', order: 10, icon: markRaw(Headset) },
    },
  },
]
export default routes
