import { DataAnalysis, DataLine, Monitor, PieChart, Sunny, Trophy } from '@element-plus/icons-vue'
import { markRaw } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import type { Role } from '@/api/types'

/** Supervisors and admins see the city; a department head sees their department and the units
 *  below it (the API holds them to it); every other role sees no dashboard. */
const VIEWERS: Role[] = ['supervisor', 'admin', 'dept_head']
/** The wallboard is city-wide: supervisors and admins only. */
const CITY: Role[] = ['supervisor', 'admin']

const routes: RouteRecordRaw[] = [
  {
    path: '/dashboards/kpis',
    name: 'dashboard-kpis',
    component: () => import('./KpiPage.vue'),
    meta: { title: '指标看板', roles: VIEWERS, menu: { group: 'supervise', order: 10, icon: markRaw(DataLine) } },
  },
  {
    path: '/dashboards/analysis',
    name: 'dashboard-analysis',
    component: () => import('./AnalysisPage.vue'),
    meta: { title: '诉求分析', roles: VIEWERS, menu: { group: 'supervise', order: 20, icon: markRaw(PieChart) } },
  },
  {
    path: '/dashboards/supervision',
    name: 'dashboard-supervision',
    component: () => import('./SupervisionPage.vue'),
    meta: { title: '超期与督办', roles: VIEWERS, menu: { group: 'supervise', order: 30, icon: markRaw(DataAnalysis) } },
  },
  {
    path: '/dashboards/ranking',
    name: 'dashboard-ranking',
    component: () => import('./RankingPage.vue'),
    meta: { title: '红黑榜与月报', roles: VIEWERS, menu: { group: 'supervise', order: 40, icon: markRaw(Trophy) } },
  },
  {
    path: '/dashboards/hot-topics',
    name: 'dashboard-hot-topics',
    component: () => import('./HotTopicsPage.vue'),
    meta: { title: '热点诉求', roles: VIEWERS, menu: { group: 'supervise', order: 50, icon: markRaw(Sunny) } },
  },
  {
    path: '/wallboard',
    name: 'wallboard',
    component: () => import('./WallboardPage.vue'),
    meta: { title: '数据大屏', roles: CITY, fullscreen: true, menu: { group: 'supervise', order: 60, icon: markRaw(Monitor) } },
  },
]
export default routes
