"""What the jobs API raises."""


class JobsError(Exception):
    """The queue cannot do what was asked; the message is one line for the developer."""


class JobFailed(Exception):
    """A job ran out of attempts: its last error, as text (an exception object may not survive
    the trip through the queue's database)."""


class PermanentFailure(Exception):
    """Raised by a job that trying again cannot help (a message that cannot be composed, a row
    that is gone): the job fails at once, without the retries its task allows."""
