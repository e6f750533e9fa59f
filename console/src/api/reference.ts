import { api } from './client'
import type { Department, Vocabulary } from './types'

export const referenceApi = {
  vocabulary: () => api<Vocabulary>('vocabulary'),
  departments: () => api<Department[]>('departments'),
}
