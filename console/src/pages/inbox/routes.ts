import { Message } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

const routes: RouteRecordRaw[] = [
  {
    path: '/inbox',
    name: 'inbox',
    component: () => import('./InboxPage.vue'),
    meta: { title: '站内消息', menu: { group: 'work', order: 90, icon: markRaw(Message) } },
  },
]
export default routes
