// A warning confirmation (ElMessageBox.confirm) as a yes/no: false on 取消, the close button or
// Esc, which Element Plus signals by rejecting ('cancel' / 'close'); left uncaught, that rejection
// is an error in the console each time a user thinks better of it.
import type { ElMessageBoxOptions } from 'element-plus'

export async function confirmed(message: string, title: string, options: ElMessageBoxOptions = {}): Promise<boolean> {
  try {
    await ElMessageBox.confirm(message, title, { type: 'warning', ...options })
    return true
  } catch {
    return false
  }
}
