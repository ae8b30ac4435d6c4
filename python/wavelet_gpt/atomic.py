"""Files written whole or not at all: into `.NAME.PID.tmp` beside the file (the npm package's name
for a write in flight, which a later run removes if its writer died), flushed to disk, then
renamed over the file. A crash leaves the old file."""

import os


def write_atomic(path, chunks):
    """Writes the byte strings `chunks`, one after another, as the file at `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f'.{os.path.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(temporary, 'wb') as file:
            for chunk in chunks:
                file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
