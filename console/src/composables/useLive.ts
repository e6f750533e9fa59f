// Data that stays current without a reload: `load` runs now, again every `seconds` while the
// page is shown and the tab visible, and at once when the tab comes back.
import { onActivated, onBeforeUnmount, onDeactivated, onMounted } from 'vue'

export function useLive(load: () => unknown, seconds = 15) {
  let timer: number | undefined
  const tick = () => {
    if (document.visibilityState === 'visible') void load()
  }
  const start = () => {
    stop()
    timer = window.setInterval(tick, seconds * 1000)
  }
  const stop = () => {
    if (timer !== undefined) window.clearInterval(timer)
    timer = undefined
  }
  const onVisible = () => {
    if (document.visibilityState === 'visible' && timer !== undefined) void load()
  }
  onMounted(() => {
    void load()
    start()
    document.addEventListener('visibilitychange', onVisible)
  })
  onActivated(start)
  onDeactivated(stop)
  onBeforeUnmount(() => {
    stop()
    document.removeEventListener('visibilitychange', onVisible)
  })
  return { refresh: load }
}
