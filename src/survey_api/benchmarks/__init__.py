"""The open benchmark across organisations (jämförelse): pooled, disclosure-controlled figures."""
