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
  /** An admin reset the password: the user changes it before seeing any page (App.vue). */
  const mustChangePassword = computed(() => user.value?.must_change_password === true)

  function readUser(): User | null {
    try {
      return JSON.parse(sessionStorage.getItem(USER_KEY) ?? 'null') as User | null
    } catch {
      return null
    }
  }

  function keepUser(who: User) {
    user.value = who
    sessionStorage.setItem(USER_KEY, JSON.stringify(who))
  }

  function store(answer: TokenOut) {
    token.value = answer.access_token
    sessionStorage.setItem(TOKEN_KEY, answer.access_token)
    keepUser(answer.user)
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

  /** The API refused a request until the password is changed (403 password_change_required). */
  function requirePasswordChange() {
    if (user.value && !user.value.must_change_password) keepUser({ ...user.value, must_change_password: true })
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
      keepUser(await api<User>('me'))
    } catch {
      // 401 already showed the login (expire); anything else: keep the stored user and go on.
    }
  }

  return {
    token,
    user,
    role,
    mustChangePassword,
    loginMessage,
    expired,
    login,
    logout,
    expire,
    restore,
    changePassword,
    requirePasswordChange,
  }
})

/** Wire the API client to the session (called once at start). */
export function connectClient(session: ReturnType<typeof useSession>) {
  configureClient({
    token: () => session.token,
    unauthorized: (e) => session.expire(e.message),
    passwordChangeRequired: () => session.requirePasswordChange(),
  })
}
