// Who is logged in: the bearer token (sessionStorage, one per browser tab), the user, and the
// login shown again when the API refuses the token. The page under the login stays mounted, so a
// half-filled form is still there once the same user has logged in again.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { api, configureClient } from '@/api/client'
import type { Role, TokenOut, User } from '@/api/types'

const TOKEN_KEY = 'hotline.token'
const USER_KEY = 'hotline.user'

export const useSession = defineStore('session', () => {
  const token = ref<string | null>(sessionStorage.getItem(TOKEN_KEY))
  const user = ref<User | null>(readUser())
  /** Why the login is shown over the application ('' when it is not). */
  const loginMessage = ref('')
  const expired = ref(false)

  const role = computed<Role | null>(() => user.value?.role ?? null)

  function readUser(): User | null {
    try {
      return JSON.parse(sessionStorage.getItem(USER_KEY) ?? 'null') as User | null
    } catch {
      return null
    }
  }

  function store(answer: TokenOut) {
    token.value = answer.access_token
    user.value = answer.user
    sessionStorage.setItem(TOKEN_KEY, answer.access_token)
    sessionStorage.setItem(USER_KEY, JSON.stringify(answer.user))
  }

  async function login(username: string, password: string): Promise<void> {
    const previous = user.value
    const answer = await api<TokenOut>('auth/token', { form: { username, password } })
    if (expired.value && previous && previous.id !== answer.user.id) {
      // Someone else logged in over another user's open work: start clean.
      store(answer)
      window.location.reload()
      return
    }
    store(answer)
    expired.value = false
    loginMessage.value = ''
  }

  /** 修改密码: every other token of the user ends; this tab keeps working with the new one. */
  async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
    store(await api<TokenOut>('me/password', { json: { current_password: currentPassword, new_password: newPassword } }))
  }

  /** The API refused the token: show the login over the page (which keeps its state). */
  function expire(message = '登录已过期，请重新登录') {
    if (!user.value) return
    token.value = null
    sessionStorage.removeItem(TOKEN_KEY)
    expired.value = true
    loginMessage.value = message
  }

  function logout() {
    token.value = null
    user.value = null
    expired.value = false
    sessionStorage.removeItem(TOKEN_KEY)
    sessionStorage.removeItem(USER_KEY)
    loginMessage.value = '已退出登录'
  }

  /** At start: check the stored token is still good (and refresh who the user is). */
  async function restore(): Promise<void> {
    if (!token.value) {
      user.value = null
      return
    }
    try {
      const me = await api<User>('me')
      user.value = me
      sessionStorage.setItem(USER_KEY, JSON.stringify(me))
    } catch {
      // 401 already showed the login (expire); anything else: keep the stored user and go on.
    }
  }

  return { token, user, role, loginMessage, expired, login, logout, expire, restore, changePassword }
})

/** Wire the API client to the session (called once at start). */
export function connectClient(session: ReturnType<typeof useSession>) {
  configureClient({ token: () => session.token, unauthorized: (e) => session.expire(e.message) })
}
