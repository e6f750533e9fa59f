import 'element-plus/theme-chalk/base.css'
import './shell/theme.css'

import { createPinia } from 'pinia'
import { createApp } from 'vue'

import App from './App.vue'
import { createConsoleRouter } from './router'
import { connectClient, useSession } from './session'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
const session = useSession(pinia)
connectClient(session)
app.use(createConsoleRouter(session))
session.restore().finally(() => app.mount('#app'))
