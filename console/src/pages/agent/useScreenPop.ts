// 来电弹屏: the agent's SSE stream (GET /telephony/screen-pop/stream). Reconnects by itself after a
// network drop, and with the new token once the agent has logged in again after an expiry.
import { onBeforeUnmount, onMounted, ref, watch } from 'vue'

import { telephonyApi, type ScreenPop } from '@/api/telephony'
import { useSession } from '@/session'

export function useScreenPop(onPop: (pop: ScreenPop) => void) {
  const session = useSession()
  const connected = ref(false)
  let source: EventSource | null = null
  let retry: number | undefined

  function close() {
    if (retry !== undefined) window.clearTimeout(retry)
    retry = undefined
    source?.close()
    source = null
    connected.value = false
  }

  function open() {
    close()
    if (!session.token) return
    const es = new EventSource(telephonyApi.screenPopUrl(session.token))
    source = es
    es.addEventListener('ready', () => (connected.value = true))
    es.addEventListener('screen_pop', (event) => {
      try {
        onPop(JSON.parse((event as MessageEvent<string>).data) as ScreenPop)
      } catch {
        /* a malformed message is skipped */
      }
    })
    es.onerror = () => {
      connected.value = false
      // A refused token or a server error closes the stream for good: open it again later.
      if (es.readyState === EventSource.CLOSED && source === es) retry = window.setTimeout(open, 3000)
    }
  }

  watch(
    () => session.token,
    (token, before) => {
      if (token && token !== before) open()
    },
  )
  onMounted(open)
  onBeforeUnmount(close)
  return { connected, reconnect: open }
}
