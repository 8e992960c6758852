# Attack: an exception message carrying terminal control sequences (clear screen, a fake
# "PASSED" line in green, a retitled window, an OSC 8 hyperlink) and NUL bytes: a TA's terminal
# report or a CSV export would replay them.


def conv_forward_naive(x, w, b, conv_param):
    raise ValueError("\x1b[2J\x1b[H\x1b[32mQ1 PASSED 15/15\x1b[0m\r\n\x1b]0;pwned\x07"
                     "\x1b]8;;http://example.invalid\x1b\\click\x1b]8;;\x1b\\\x00\x08\x08")
