"""Java-style .properties files: the profiles (configs/profiles), the broker
settings (configs/broker), the bench's own best.properties. Read here and
nowhere else in the bench, with the rules of the orderer's and peer-sim's
reader (common/properties.cc):

  - leading and trailing blanks (space, tab, CR) of a line are dropped;
  - a blank line, or one starting with '#' or '!', is a comment;
  - the key ends at the first '=' or ':'; key and value are trimmed;
  - a line without '=' or ':', one with an empty key, and one ending in a
    backslash (continuations are not supported) are errors naming the file
    and the line;
  - a key given twice keeps its last value."""


class PropertiesError(ValueError):
    pass


_BLANKS = " \t\r"


def parse(text, origin="<properties>"):
    """[(key, value)] of every setting in `text`, in order (a repeated key
    appears each time); `origin` names the text in errors ("FILE:LINE: ...")."""
    out = []
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.strip(_BLANKS)
        if not line or line[0] in "#!":
            continue
        where = f"{origin}:{n}"
        if line.endswith("\\"):
            raise PropertiesError(f"{where}: line continuations are not supported")
        seps = [i for i in (line.find("="), line.find(":")) if i >= 0]
        if not seps:
            raise PropertiesError(f"{where}: expected key=value, got '{line}'")
        key, value = line[:min(seps)].strip(_BLANKS), line[min(seps) + 1:].strip(_BLANKS)
        if not key:
            raise PropertiesError(f"{where}: empty key in '{line}'")
        out.append((key, value))
    return out


def read(path):
    """{key: value} of a .properties file (a repeated key keeps its last
    value); PropertiesError names the file and line of a malformed one,
    OSError a missing one."""
    with open(path) as f:
        return dict(parse(f.read(), path))
