"""The HTTP edge: the REST API (calls, recordings, the audit log, revocations), ``/metrics``
and the pages. Handlers validate what comes in and call the switchboard; they hold no state.
"""
