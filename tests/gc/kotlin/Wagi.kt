// A Kotlin/Wasm WAGI handler for `edgecar serve` (WebAssembly GC): each request builds a
// list of half a million objects in its own instance's heap and answers with their sum.
class Node(val value: Int, val next: Node?)

fun main() {
    var list: Node? = null
    for (i in 500_000 downTo 1) list = Node(i, list)
    var sum = 0L
    var p = list
    while (p != null) {
        sum += p.value
        p = p.next
    }
    print("Content-Type: text/plain\n\nsum $sum\n")
}
