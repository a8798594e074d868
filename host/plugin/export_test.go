package plugin

// SparePids returns the pids of the processes Prestart left that no Start
// took yet.
func (l *Launcher) SparePids() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for _, p := range l.spares {
		out = append(out, p.Pid())
	}
	return out
}
