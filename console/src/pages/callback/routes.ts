import { PhoneFilled } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  {
    path: '/callback/queue',
    name: 'callback-queue',
    component: () => import('./CallbackQueue.vue'),
    meta: {
      title: '回访队列',
      roles: ['callback_agent', 'supervisor', 'admin'],
      menu: { group: 'callback', order: 10, icon: markRaw(PhoneFilled) },
    },
  },
]
export default routes
