package groupcommit

// started reports whether Run has taken its commit function.
func (q *Queue[R]) started() bool {
	q.committing.Lock()
	defer q.committing.Unlock()
	return q.commit != nil
}

// busy reports whether somebody is committing.
func (q *Queue[R]) busy() bool {
	if q.committing.TryLock() {
		q.committing.Unlock()
		return false
	}
	return true
}
