package bot

// SetCrashHook lets the external tests stop a process between two pipeline steps.
func SetCrashHook(p *Pipeline, f func(step string)) { p.crashHook = f }
