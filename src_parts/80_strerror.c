/* Result code texts, generated from the same list as the enum. */

DIGBY_API const char *digby_strerror(int rc)
{
    switch (rc) {
#define DIGBY__CASE(name, value, text) case value: return text;
        DIGBY__ERRORS(DIGBY__CASE)
#undef DIGBY__CASE
    default:
        return "unknown digby result code";
    }
}
