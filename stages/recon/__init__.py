"""The small library the stage scripts share.

Stage scripts under stages/ are thin shells (arguments, reading, one call, atomic write);
the logic they call lives here or in the stage module itself as importable functions.
"""
