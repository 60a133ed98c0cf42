// Glob → RegExp for filters. Patterns match the whole relative path ('/'-separated):
//   *      any run of characters except '/'
//   ?      one character except '/'
//   **     any run of characters including '/' ("**/" also matches zero directories)
//   [abc] [a-z] [!x]  character classes;  {a,b}  alternatives;  \x  a literal x
// A pattern with no '/' matches a name at any depth ("*.tmp" ≡ "**/*.tmp"), as in rsync and rclone.
export function globToRegExp(glob: string): RegExp {
  const pattern = glob.includes('/') ? glob.replace(/^\//, '') : `**/${glob}`;
  let re = '';
  let inAlternatives = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const atSegmentStart = i === 0 || pattern[i - 1] === '/';
        i++;
        if (atSegmentStart && pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
      } else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      inAlternatives++;
      re += '(?:';
    } else if (c === '}' && inAlternatives > 0) {
      inAlternatives--;
      re += ')';
    } else if (c === ',' && inAlternatives > 0) {
      re += '|';
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += escape(pattern[++i]!);
    } else {
      re += escape(c);
    }
  }
  return new RegExp(`^${re}$`, 'u');
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
