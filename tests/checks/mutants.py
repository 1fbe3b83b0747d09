"""Planted wrong answers that every chapter's mutation tests use."""


def partly_written(solution, unfinished):
    """The solution, except that it raises NotImplementedError where ``unfinished(*args, **kwargs)`` holds:
    an answer written for some cases only, which a check must fail (naming the case), not call unattempted."""

    def answer(*args, **kwargs):
        if unfinished(*args, **kwargs):
            raise NotImplementedError("not written for this case yet")
        return solution(*args, **kwargs)

    return answer
