// Times as a center reads them: local Beijing time, to the second.
import dayjs from 'dayjs'

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = dayjs(iso)
  return d.isValid() ? d.format('YYYY-MM-DD HH:mm:ss') : iso
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return ''
  const d = dayjs(iso)
  return d.isValid() ? d.format('YYYY-MM-DD') : iso
}

/** "还剩 2天3小时" / "已超 5小时" for a deadline, and how urgent it is (for the colour). */
export function countdown(due: string | null | undefined, now: number = Date.now()): { text: string; level: 'ok' | 'soon' | 'over' } | null {
  if (!due) return null
  const ms = dayjs(due).valueOf() - now
  const abs = Math.abs(ms)
  const days = Math.floor(abs / 86_400_000)
  const hours = Math.floor((abs % 86_400_000) / 3_600_000)
  const minutes = Math.floor((abs % 3_600_000) / 60_000)
  const span = days ? `${days}天${hours}小时` : hours ? `${hours}小时${minutes}分` : `${minutes}分`
  if (ms < 0) return { text: `已超 ${span}`, level: 'over' }
  return { text: `还剩 ${span}`, level: ms < 86_400_000 ? 'soon' : 'ok' }
}
