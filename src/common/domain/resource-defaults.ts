/** What a job that sets no `resource_requirements` asks for (DESIGN §2). */
export const DEFAULT_CPU_UNITS = 1;
export const DEFAULT_MEMORY_MB = 128;
